docker image inspect --format '{{.RootFS.Layers}}' busybox:latest
