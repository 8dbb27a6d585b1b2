docker image inspect --format '{{.Config.Healthcheck}}' busybox:latest
