docker image inspect --format '{{.Config.Foo}}' busybox:latest
