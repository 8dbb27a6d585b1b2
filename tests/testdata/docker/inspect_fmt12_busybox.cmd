docker image inspect --format '{{json .Config.Labels}}' busybox:latest
