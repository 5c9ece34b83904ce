#!/usr/bin/env bash
# Proves the production build stands on its own: copies the built tree
# (`npm run build` first) without node_modules, installs only the runtime
# dependencies there (`npm ci --omit=dev`), starts it with `npm start` on a
# free port against a throwaway database, and expects GET /healthz to answer
# 200. The Dockerfile runs the same two steps.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f dist/server/main.js ] || { echo "no dist/server/main.js: run npm run build first" >&2; exit 1; }
work="$(mktemp -d)"
db="chat_prod_check_$$"
cleanup() {
  [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null || true
  mariadb -h127.0.0.1 -uroot -e "DROP DATABASE IF EXISTS \`$db\`" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
# What the runtime image holds (see Dockerfile): manifests, compiled server,
# built web client, migrations, the install-time dependency fix.
tar -cf - package.json package-lock.json dist web/dist prisma/migrations \
  scripts/patch-dependencies.mjs sdk/package.json cli/package.json examples/*/package.json |
  tar -xf - -C "$work"
cd "$work"
npm ci --omit=dev --no-audit --no-fund >npm-ci.log 2>&1 || { cat npm-ci.log; exit 1; }
# The compiled server runs on node alone: the TypeScript runner of
# development must not even be there. (Prisma's client brings the prisma
# CLI and typescript along as peers; the server never loads them.)
if [ -d node_modules/tsx ]; then
  echo "tsx was installed: the runtime must not need development tools" >&2
  exit 1
fi
port="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
PORT="$port" HOST=127.0.0.1 DATABASE_URL="mysql://root@127.0.0.1:3306/$db" LOG_LEVEL=warn \
  npm start >server.log 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  if code="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz")" && [ "$code" = 200 ]; then
    echo "production build: npm ci --omit=dev && npm start answered /healthz 200 on port $port"
    exit 0
  fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.3
done
echo "production build did not answer /healthz with 200" >&2
cat server.log >&2
exit 1
