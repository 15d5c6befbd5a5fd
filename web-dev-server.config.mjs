import { crossOriginIsolation } from './web-server-common.mjs';

// `npm start`: the demo at http://localhost:8000/ (served from demo/index.html).
const demoAtRoot = async (ctx, next) => {
  // The query string goes along: the demo reads the element's attributes from it (?network=fetch).
  if (ctx.path === '/') return ctx.redirect(`/demo/${ctx.search}`);
  return next();
};

export default {
  nodeResolve: true,
  open: false,
  port: Number(process.env.PORT ?? 8000),
  rootDir: '.',
  middleware: [crossOriginIsolation, demoAtRoot],
};
