docker image inspect --format '{{.Config.Foo}}' example/app:v1
