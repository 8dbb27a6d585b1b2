docker image inspect --format '{{.Config.Labels.x}}' busybox:latest
