docker image inspect --format '{{.Config.Cmd}}' example/app:v1
