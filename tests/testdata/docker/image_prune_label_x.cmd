docker image prune -f --filter label=x
