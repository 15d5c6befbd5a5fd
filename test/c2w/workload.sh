# The workload of test/node/c2w.test.ts: run in the container2wasm fixture's container on its share,
# /mnt/opfs (by the element, over M1 and over L1, and by node:wasi on a temporary directory, the
# oracle); then it prints what it sees. The test compares the outputs and both shares.
cd /mnt/opfs || exit 1
ok() { echo "ok: $*"; }
fail() { echo "FAILED: $*"; }
cat from-page.txt || fail "read the page's file"
mkdir -p w/a/b/c/d && ok "nested directories"
cd w || exit 1
echo hello > a/b/c/d/hello.txt
printf 'line %s\n' 1 2 3 > a/lines.txt
# 4 MiB of known bytes, written in 64 KiB blocks, and their checksum.
seq 1 1000000 | head -c 4194304 | dd of=big bs=64k 2>/dev/null && ok "4 MiB written"
sha256sum big > big.sha256 && cat big.sha256
# A directory renamed with what it holds.
mkdir -p old/inner/deeper && echo inside > old/inner/f && echo deeper > old/inner/deeper/g
mv old renamed && ok "renamed a directory"
cat renamed/inner/f renamed/inner/deeper/g
[ -e old ] && fail "old is still there"
# Symlinks: relative, to a directory, dangling.
# (node:wasi refuses targets with ".." even inside the share, so there are none.)
ln -s a/lines.txt link-to-file && ln -s renamed/inner link-to-dir && ln -s nowhere dangling && ok "symlinks"
cat link-to-file link-to-dir/f
readlink link-to-file; readlink link-to-dir; readlink dangling
[ -e dangling ] || ok "dangling does not resolve"
# Truncate: shrink and grow (the grown part reads as zeros). In this image the size changes and
# then truncate reports EINVAL on every host, node:wasi included: TinyEMU follows the size change
# with a time update that the image's wasi-libc refuses before any WASI call. The same goes for
# opening an existing file with O_TRUNC (a shell's ">").
printf '0123456789' > shrunk; truncate -s 4 shrunk; echo "truncate: $?"; cat shrunk; echo
printf 'ab' > grown; truncate -s 5000 grown; echo "truncate: $?"; od -An -c grown | head -2
# Times: set explicitly, read back.
touch -d '2001-02-03 04:05:06' a/lines.txt && touch -d '1999-12-31 23:59:59' renamed/inner/f && ok "utimes"
stat -c '%n %Y' a/lines.txt renamed/inner/f
# A file unlinked while open stays readable through its descriptor.
echo 'read after unlink' > unlinked
exec 3< unlinked
rm unlinked && ok "unlinked while open"
[ -e unlinked ] && fail "unlinked is still there"
cat <&3
exec 3<&-
# Append, overwrite in place, remove.
echo one > changed && echo two >> changed && cat changed
echo abcdef > patched && printf XY | dd of=patched bs=1 seek=2 conv=notrunc 2>/dev/null && cat patched
echo three > replaced; echo four > replaced; echo "overwrite: $?"; wc -c < replaced
echo gone > removed && rm removed
mkdir emptied && rmdir emptied
# What is there: names (no "." or ".."), types, sizes of non-directories, link targets.
ls -a | cat
find . | sort | while read -r p; do
  if [ -d "$p" ] && [ ! -L "$p" ]; then stat -c '%n|%F' "$p"; else stat -c '%n|%F|%s|%N' "$p"; fi
done
exit 7
