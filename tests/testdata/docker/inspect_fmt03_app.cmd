docker image inspect --format '{{.Config.Env}}' example/app:v1
