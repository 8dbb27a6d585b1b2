docker history --no-trunc busybox:latest
