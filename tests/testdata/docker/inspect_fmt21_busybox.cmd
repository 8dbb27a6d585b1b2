docker image inspect --format '{{.Config.Volumes}}' busybox:latest
