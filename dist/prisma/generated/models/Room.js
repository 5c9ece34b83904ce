export {};
//# sourceMappingURL=Room.js.map