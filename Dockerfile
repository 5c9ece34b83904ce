# syntax=docker/dockerfile:1
# Multi-stage image of the chat server. Each step is an npm script that CI
# runs too (`npm run build`, then `npm ci --omit=dev` and `npm start` in
# scripts/check-production.sh), so the image is built from steps that are
# tested, even though CI cannot build images (no Docker engine there).

# --- build: dependencies, generated Prisma client, compiled server, web client
FROM node:20-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY sdk/package.json sdk/package.json
COPY cli/package.json cli/package.json
COPY examples/reminder-bot/package.json examples/reminder-bot/package.json
COPY scripts/patch-dependencies.mjs scripts/patch-dependencies.mjs
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

# --- runtime: production dependencies and the built tree only
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/sdk/package.json sdk/package.json
COPY --from=build /app/cli/package.json cli/package.json
COPY --from=build /app/examples/reminder-bot/package.json examples/reminder-bot/package.json
COPY --from=build /app/scripts/patch-dependencies.mjs scripts/patch-dependencies.mjs
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist dist
COPY --from=build /app/web/dist web/dist
COPY --from=build /app/prisma/migrations prisma/migrations
USER node
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["npm", "start"]
