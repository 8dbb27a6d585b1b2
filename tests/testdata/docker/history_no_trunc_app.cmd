docker history --no-trunc example/app:v1
