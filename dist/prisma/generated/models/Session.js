export {};
//# sourceMappingURL=Session.js.map