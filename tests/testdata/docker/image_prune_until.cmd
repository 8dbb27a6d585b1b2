docker image prune -f --filter until=1h
