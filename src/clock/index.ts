export { systemClock, sleep, type Clock, type Timer, type Timers } from "./clock.ts";
export { FakeClock, settle } from "./fake-clock.ts";
