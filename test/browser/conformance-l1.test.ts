import { conformanceSuite } from './conformance.js';

conformanceSuite('l1');
