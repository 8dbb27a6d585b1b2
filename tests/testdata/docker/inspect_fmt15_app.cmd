docker image inspect --format '{{json .RepoDigests}}' example/app:v1
