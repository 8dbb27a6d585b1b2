docker image inspect --format '{{.Config.ExposedPorts}}' busybox:latest
