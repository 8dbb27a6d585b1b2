docker image inspect --format '{{.Config.Env}}' busybox:latest
