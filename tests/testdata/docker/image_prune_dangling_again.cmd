docker image prune -f
