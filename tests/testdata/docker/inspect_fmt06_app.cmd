docker image inspect --format '{{.Foo}}' example/app:v1
