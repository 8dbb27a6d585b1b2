docker history --format '{{json .}}' example/app:v1
