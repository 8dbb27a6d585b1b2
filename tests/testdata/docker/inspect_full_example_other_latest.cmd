docker image inspect example/other:latest
