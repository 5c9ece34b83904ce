export {};
//# sourceMappingURL=rows.js.map