docker history --format '{{.ID}} {{.CreatedBy}}' busybox:latest
