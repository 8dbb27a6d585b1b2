docker image inspect --format '{{.Foo}}' busybox:latest
