docker image inspect example/app:v1
