export {};
//# sourceMappingURL=Reaction.js.map