docker image inspect --format '{{.RootFS.Layers}}' example/app:v1
