docker inspect --type image --format '{{.Config.Cmd}}' busybox:latest
