docker image inspect --format '{{range .RepoTags}}{{.}} {{end}}' example/app:v1
