docker image inspect --format '{{.Config.Volumes}}' example/app:v1
