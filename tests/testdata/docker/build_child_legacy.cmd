DOCKER_BUILDKIT=0 docker build -q -t child:latest ctx
