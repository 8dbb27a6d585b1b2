docker image inspect --format '{{index .RepoTags 0}}' example/app:v1
