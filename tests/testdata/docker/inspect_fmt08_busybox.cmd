docker image inspect --format '{{range .RepoTags}}{{.}} {{end}}' busybox:latest
