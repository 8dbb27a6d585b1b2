docker history example/app:v1
