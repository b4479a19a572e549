# The published image of the in-cluster load-balancer controller (`swarmup lb controller install`):
# node:20-bookworm-slim with the built swarmup and its production dependencies. Where no registry is
# reachable, `swarmup lb controller build` makes the same image from an installed swarmup instead.
#   docker build -t swarmup/lb-controller:$(node -p "require('./package.json').version") .
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json ./
COPY src src
COPY drivers drivers
COPY bench bench
COPY test test
RUN npx tsc -p tsconfig.json && npm prune --omit=dev

FROM node:20-bookworm-slim
COPY --from=build /src/package.json /opt/swarmup/package.json
COPY --from=build /src/node_modules /opt/swarmup/node_modules
COPY --from=build /src/dist/src /opt/swarmup/dist/src
COPY --from=build /src/dist/drivers /opt/swarmup/dist/drivers
COPY bin /opt/swarmup/bin
COPY templates /opt/swarmup/templates
ENV NODE_ENV=production
LABEL swarmup.lb-controller=1
# Starts as root only to read the group of the mounted Docker socket, then runs as uid 10001 with
# that group (src/lb/controller/runtime.ts): the socket's group differs between hosts.
ENTRYPOINT ["/usr/local/bin/node", "/opt/swarmup/bin/swarmup", "lb", "controller", "run"]
