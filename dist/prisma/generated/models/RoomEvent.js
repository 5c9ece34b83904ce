export {};
//# sourceMappingURL=RoomEvent.js.map