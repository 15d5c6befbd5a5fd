import { conformanceSuite } from './conformance.js';

conformanceSuite('m1');
