docker system df -v
