docker image inspect --format '{{.Comment}}' example/app:v1
