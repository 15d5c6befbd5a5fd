# The container2wasm benchmark's workload (bench/node/c2w.ts), run in the fixture's container on
# /mnt/opfs by every host: node:wasi on a real directory, S1 in the element, browser_wasi_shim in
# memory. The host put bench/small (500 files) and bench/tree (20 directories of 99 files: 2,000
# entries) there. Prints "BENCH <what> <seconds>" per run, timed with ash's $EPOCHREALTIME
# (a builtin, no fork; the guest's clock is the host's). Usage: sh bench.sh RUNS
runs=${1:-5}
cd /mnt/opfs/bench || exit 1
t() { echo "BENCH $1 $2 $EPOCHREALTIME"; }
r=0
while [ $r -lt "$runs" ]; do
  r=$((r + 1))
  # This image cannot truncate an existing file (see test/c2w/workload.sh): remove it first.
  rm -f f
  t dd-1m-write start; dd if=/dev/zero of=f bs=1M count=16 2>/dev/null; t dd-1m-write end
  t dd-1m-read start; dd if=f of=/dev/null bs=1M 2>/dev/null; t dd-1m-read end
  rm -f f
  t dd-4k-write start; dd if=/dev/zero of=f bs=4k count=4096 2>/dev/null; t dd-4k-write end
  t dd-4k-read start; dd if=f of=/dev/null bs=4k 2>/dev/null; t dd-4k-read end
  t cat-500 start; cat small/* > /dev/null; t cat-500 end
  t ls-lR-2000 start; ls -lR tree > /dev/null; t ls-lR-2000 end
done
rm -f f
echo "BENCH-SIZE $(ls small | wc -l) $(ls -R tree | grep -c '^e')"
