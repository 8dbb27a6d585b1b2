docker image ls example/app:v1
