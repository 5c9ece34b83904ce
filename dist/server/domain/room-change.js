export {};
//# sourceMappingURL=room-change.js.map