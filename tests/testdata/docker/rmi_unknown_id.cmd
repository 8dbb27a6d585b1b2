docker rmi 0123456789ab
