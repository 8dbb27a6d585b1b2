docker image inspect --format '{{.Config.Cmd}}' busybox:latest
