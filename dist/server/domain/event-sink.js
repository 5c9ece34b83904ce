/** A sink that drops everything; for deployments and tests without feeds. */
export const discardEvents = { publish: () => { } };
//# sourceMappingURL=event-sink.js.map