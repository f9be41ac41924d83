"""Operations outside the warehouse: the ECS dashboard and Slack alerts."""
