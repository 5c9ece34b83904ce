export {};
//# sourceMappingURL=Mention.js.map